"""Self-service exports of personal data (GDPR Art. 15 and 20): a verifiable ZIP, built by the worker."""
