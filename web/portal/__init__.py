"""The customer portal under /portal/."""
