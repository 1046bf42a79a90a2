"""The exceptions dualgrad raises. Each message names the op, the shapes involved and the fix."""


class MissingRuleError(NotImplementedError):
    """A function was called on a Dual but dualgrad has no forward-mode rule for it.

    Raised instead of returning a value whose tangent would be silently wrong or dropped.
    Register a rule with ``dg.defjvp`` or use a function listed in ``docs/ops.md``.
    """


class TangentShapeError(ValueError):
    """A tangent block does not have the shape ``(k, *primal.shape)``, or two Duals disagree on k."""


class BackendUnavailableError(ImportError):
    """An array backend (CuPy) was requested but is not installed or has no usable device."""


class JVPCheckError(AssertionError):
    """``dg.check_jvp`` found a directional derivative that disagrees with finite differences."""


class ClusterError(RuntimeError):
    """A dask cluster cannot run a sweep: unreachable scheduler, no workers, workers without this process's
    dualgrad, or a job that kills its workers again and again. The message names the machine and the fix."""
