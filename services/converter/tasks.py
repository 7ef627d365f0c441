"""Static checks of a task's source and loading it as a module.

``check_task_source`` runs in the parent and never executes user code;
``load_module`` runs in the sandbox child.
"""

from __future__ import annotations

import ast
import linecache
import re
import sys
import types

from .model import TaskInvalid

REQUIRED = ("Model", "get_inputs", "get_init_inputs")


class TaskError(Exception):
    """The task's own code raised; ``stage`` says where (e.g. "get_inputs()")."""

    def __init__(self, stage: str, exc: BaseException):
        self.stage = stage
        self.original = exc
        super().__init__(f"task code raised in {stage}: {type(exc).__name__}: {exc}")


def check_task_source(source: str, task_name: str = "task") -> ast.Module:
    """Parse and check the required top-level names; raise TaskInvalid otherwise."""
    try:
        tree = ast.parse(source, filename=f"{task_name}.py")
    except SyntaxError as exc:
        raise TaskInvalid(f"syntax error at line {exc.lineno}: {exc.msg}") from None
    except ValueError as exc:  # e.g. null bytes
        raise TaskInvalid(f"source cannot be parsed: {exc}") from None
    defined: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            defined[node.name] = "class"
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defined[node.name] = "function"
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    defined[t.id] = "name"
    missing = [n for n in REQUIRED if n not in defined]
    if missing:
        raise TaskInvalid("task does not define " + ", ".join(f"`{m}`" for m in missing) + " at top level")
    if defined["Model"] != "class":
        raise TaskInvalid("`Model` must be a class deriving from nn.Module")
    for fn in ("get_inputs", "get_init_inputs"):
        if defined[fn] != "function":
            raise TaskInvalid(f"`{fn}` must be a function")
    return tree


def model_class_node(tree: ast.Module, name: str = "Model") -> ast.ClassDef:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    raise TaskInvalid(f"no class {name}")


_counter = 0


def load_module(source: str, name: str) -> types.ModuleType:
    """Exec ``source`` as a fresh module registered in sys.modules.

    Registration matters: fx and export look classes up by ``__module__``, and
    linecache entries make tracebacks point at real task lines.
    """
    global _counter
    _counter += 1
    safe = re.sub(r"\W", "_", name)
    modname = f"_kw_task_{safe}_{_counter}"
    filename = f"<{name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    mod = types.ModuleType(modname)
    mod.__file__ = filename
    sys.modules[modname] = mod
    code = compile(source, filename, "exec")
    exec(code, mod.__dict__)
    return mod
