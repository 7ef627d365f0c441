"""Tiny KernelBench-format tasks written for these tests (fast to convert and validate)."""

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n"

CONV_RELU_BIAS = HEADER + '''
class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, bias_shape):
        super(Model, self).__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=1)
        self.bias = nn.Parameter(torch.randn(bias_shape))

    def forward(self, x):
        x = self.conv(x)
        x = torch.relu(x)
        x = x + self.bias
        return x * 0.5

batch_size = 2
in_channels, out_channels, kernel_size = 3, 4, 3
bias_shape = (out_channels, 1, 1)

def get_inputs():
    return [torch.rand(batch_size, in_channels, 8, 8)]

def get_init_inputs():
    return [in_channels, out_channels, kernel_size, bias_shape]
'''

LSTM = HEADER + '''
class Model(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, output_size):
        super().__init__()
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x, h0=None):
        if h0 is None:
            h0 = torch.randn(self.num_layers, x.size(0), self.hidden_size, device=x.device)
        c0 = torch.zeros_like(h0)
        out, _ = self.lstm(x, (h0, c0))
        return self.fc(out[:, -1, :])

def get_inputs():
    return [torch.rand(2, 5, 4)]

def get_init_inputs():
    return [4, 6, 2, 3]
'''

BATCHNORM = HEADER + '''
class Model(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.fc = nn.Linear(features, features)
        self.bn = nn.BatchNorm1d(features)

    def forward(self, x):
        return self.bn(self.fc(x))

def get_inputs():
    return [torch.rand(8, 5)]

def get_init_inputs():
    return [5]
'''

DROPOUT = HEADER + '''
class Model(nn.Module):
    def __init__(self, features, p):
        super().__init__()
        self.fc = nn.Linear(features, features)
        self.dropout = nn.Dropout(p)

    def forward(self, x):
        return torch.softmax(self.dropout(self.fc(x)), dim=1)

def get_inputs():
    return [torch.rand(4, 16)]

def get_init_inputs():
    return [16, 0.5]
'''

NON_TENSOR_INPUTS = HEADER + '''
class Model(nn.Module):
    def forward(self, x):
        return x

def get_inputs():
    return ["not a tensor"]

def get_init_inputs():
    return []
'''

FORWARD_RAISES = HEADER + '''
class Model(nn.Module):
    def forward(self, x):
        if x.sum() > -1:
            raise ValueError("boom in forward")
        return x

def get_inputs():
    return [torch.rand(3)]

def get_init_inputs():
    return []
'''

SLEEPS = HEADER + '''
import time

class Model(nn.Module):
    def forward(self, x):
        while True:
            time.sleep(1)

def get_inputs():
    return [torch.rand(3)]

def get_init_inputs():
    return []
'''

HUGE_INPUTS = HEADER + '''
class Model(nn.Module):
    def forward(self, x):
        return x + 1

def get_inputs():
    return [torch.empty(50 * 2**30 // 4)]

def get_init_inputs():
    return []
'''

HUGE_IN_FORWARD = HEADER + '''
class Model(nn.Module):
    def forward(self, x):
        big = torch.ones(50 * 2**30, dtype=torch.uint8)
        return x + big[:1].float()

def get_inputs():
    return [torch.rand(3)]

def get_init_inputs():
    return []
'''

OS_SYSTEM = HEADER + '''
import os

class Model(nn.Module):
    def forward(self, x):
        os.system("echo hello")
        return x

def get_inputs():
    return [torch.rand(3)]

def get_init_inputs():
    return []
'''

OS_SYSTEM_SWALLOWED = HEADER + '''
import os

try:
    os.system("echo hello")
except Exception:
    pass

class Model(nn.Module):
    def forward(self, x):
        return x

def get_inputs():
    return [torch.rand(3)]

def get_init_inputs():
    return []
'''
