"""Breach notices: incidents and the breach register (Art. 33), notices to the affected customers, delivered."""
