"""Prove the installed torch/torchvision pair works: import both and run a torchvision op."""

import sys

import torch
import torchvision
from torchvision.ops import nms

boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [50.0, 50.0, 60.0, 60.0]])
scores = torch.tensor([0.9, 0.8, 0.7])
kept = nms(boxes, scores, iou_threshold=0.5).tolist()
if kept != [0, 2]:
    sys.exit(f"torchvision.ops.nms gave {kept}, expected [0, 2]")
device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"torch {torch.__version__}, torchvision {torchvision.__version__}: nms ok ({device})")
