"""The staff console under /console/."""
