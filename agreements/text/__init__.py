"""Pure text handling of terms documents: parsing, diffing, revision-notice tables."""
