"""Token-bucket rate limits per caller, per organization and per tool; in memory or shared through Redis."""
