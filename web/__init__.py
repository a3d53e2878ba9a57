"""Every interface of the service, grouped by audience: api, console, portal, public (docs/architecture.md)."""
