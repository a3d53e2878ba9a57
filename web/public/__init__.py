"""Public pages: the terms in force, every version at a stable URL, revision notices."""
