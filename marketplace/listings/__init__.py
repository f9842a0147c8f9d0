"""Listings, solutions and cases: the review lifecycle they share."""
