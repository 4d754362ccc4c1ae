"""Data queries and GDPR rights requests: the legal clock, the queue, and fulfilment."""
