"""kernelwright.evolver."""
