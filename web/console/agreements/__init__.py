"""Staff console pages for documents, revisions, the consent dashboard, contracts and cases."""
