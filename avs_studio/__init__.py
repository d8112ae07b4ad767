"""AVS Studio: annotate audio-visual segmentation data."""

__version__ = "0.1.0"
