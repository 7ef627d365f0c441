"""kernelwright.cli."""
