"""Staff console pages for partners, tenants, users and invitations (mounted at /console/)."""
