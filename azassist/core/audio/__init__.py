"""Audio I/O seams for the LiveKit session: real devices, files and in-memory arrays."""
