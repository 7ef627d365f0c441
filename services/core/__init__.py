"""kernelwright.core."""
