"""Reference-side helpers: trial specs, distributions, varied batch, input integrity (CPU)."""

import textwrap

import torch

from kernelwright.gpu_evaluator import harness

TASK = textwrap.dedent("""
    import torch
    class Model(torch.nn.Module):
        def forward(self, x, y):
            return torch.relu(x) + y
    def get_inputs():
        return [torch.rand(6, 5), torch.rand(6, 5)]
    def get_init_inputs():
        return []
""")


def test_at_least_five_trials_with_several_distributions_and_a_varied_batch():
    specs = harness.trial_specs(5)
    assert len(specs) == 6 and specs[-1].vary_batch
    assert len({s.seed for s in specs}) == 6
    assert len({s.distribution for s in specs}) >= 3


def test_inputs_are_seeded_and_distributions_differ():
    task = harness.load_task(TASK)
    cpu = torch.device("cpu")
    a = harness.make_inputs(task, harness.TrialSpec("a", 1, "task"), cpu)
    b = harness.make_inputs(task, harness.TrialSpec("b", 1, "task"), cpu)
    c = harness.make_inputs(task, harness.TrialSpec("c", 2, "task"), cpu)
    d = harness.make_inputs(task, harness.TrialSpec("d", 1, "scaled x4 shifted -1"), cpu)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])
    assert d[0].min() < 0 and d[0].max() > 1.0


def test_varied_batch_adds_a_row_to_tensors_sharing_the_batch_dim():
    task = harness.load_task(TASK)
    inputs = harness.make_inputs(task, harness.TrialSpec("v", 3, "task", vary_batch=True), torch.device("cpu"))
    assert [tuple(x.shape) for x in inputs] == [(7, 5), (7, 5)]


def test_modified_inputs_are_detected():
    x = [torch.rand(4)]
    saved = harness.clone_inputs(x)
    assert harness.inputs_unchanged(saved, x) is None
    x[0][2] = 0.0
    assert "input 0" in harness.inputs_unchanged(saved, x)


def test_dropout_disabled_only_for_dropout_modules():
    m = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5), torch.nn.BatchNorm1d(2))
    assert harness.disable_dropout(m) == 1
    assert not m[1].training and m[2].training
