"""Local emulators of the Nosana, Akash Console and NeuraNET APIs (loopback only)."""
