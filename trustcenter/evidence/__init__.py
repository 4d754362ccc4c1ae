"""Live evidence: checks the software runs against itself, behind the FAQ's claims."""
