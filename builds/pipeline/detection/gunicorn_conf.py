"""gunicorn.conf.py in the app root: gunicorn reads it by itself, we read it with `ast`.

Its `workers` and `worker_class` are honoured (our command then leaves them
out); the platform still binds 0.0.0.0:$PORT on the command line, which wins
over the file's `bind`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from builds.pipeline.detection import pyast
from builds.pipeline.detection.tree import Tree
from builds.pipeline.plan import Plan

FILE = "gunicorn.conf.py"


@dataclass
class GunicornConf:
    sets_workers: bool = False
    sets_worker_class: bool = False


def read_gunicorn_conf(tree: Tree, plan: Plan) -> GunicornConf | None:
    """What gunicorn.conf.py sets, with warnings for settings that break a container."""
    module = tree.parse_python(FILE) if tree.is_file(FILE) else None
    if module is None:
        return None
    conf = GunicornConf()
    for name, value, line in pyast.assignments(module):
        if name == "workers":
            conf.sets_workers = True
            plan.note(FILE, line, "workers set here: the command leaves the worker count to it")
        elif name == "worker_class":
            conf.sets_worker_class = True
            plan.note(FILE, line, "worker_class set here: the command leaves it to the file")
        elif name == "bind" and any(
            (pyast.str_value(n) or "").startswith("unix:") for n in ast.walk(value)
        ):
            plan.warn(
                "gunicorn-unix-socket",
                "gunicorn.conf.py binds a unix socket; the platform "
                "binds 0.0.0.0:$PORT on the command line instead.",
                FILE,
                line,
            )
        elif name == "daemon" and isinstance(value, ast.Constant) and value.value is True:
            plan.warn(
                "gunicorn-daemon",
                "gunicorn.conf.py sets daemon = True: gunicorn would "
                "detach and the container would exit. Remove it.",
                FILE,
                line,
            )
    for variable, required, line in pyast.env_reads(module):
        if required:
            plan.warn(
                "gunicorn-needs-env",
                f"gunicorn.conf.py reads the environment variable "
                f"{variable}: set it in the project's environment.",
                FILE,
                line,
            )
    return conf
