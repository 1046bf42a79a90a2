"""The exceptions dualgrad raises. Each message names the op, the shapes involved and the fix."""


class MissingRuleError(NotImplementedError):
    """A function was called on a Dual but dualgrad has no forward-mode rule for it.

    Raised instead of returning a value whose tangent would be silently wrong or dropped.
    Register a rule with ``dg.defjvp`` or use a function listed in ``docs/ops.md``.
    """


class NonDifferentiableError(ValueError):
    """The function has no derivative at this input: repeated eigenvalues or singular values, a rank-deficient
    matrix. The factors there are not unique (or jump), so dualgrad raises instead of returning one choice."""


class TangentShapeError(ValueError):
    """A tangent block does not have the shape ``(k, *primal.shape)``, or two Duals disagree on k."""


class BackendUnavailableError(ImportError):
    """An array backend (CuPy) was requested but is not installed or has no usable device."""


class BackendUnsupportedError(NotImplementedError):
    """The operation has no implementation for the data's array module (CuPy lacks the function or the option)."""


class JVPCheckError(AssertionError):
    """``dg.check_jvp`` found a directional derivative that disagrees with finite differences."""


class ClusterError(RuntimeError):
    """A dask cluster cannot run a sweep: unreachable scheduler, no workers, workers without this process's
    dualgrad, or a job that kills its workers again and again. The message names the machine and the fix."""


class InvalidArgumentError(ValueError):
    """An argument of a public function has the wrong type, shape, dtype or value.

    The message names the function, the argument, what it got and what it needs.
    """


class NonFiniteError(InvalidArgumentError):
    """An input holds NaN or Inf where the math needs finite numbers (the message says which and where)."""


class RunDirectoryError(ValueError):
    """An output directory cannot be used as asked: it holds another run (use --resume or --overwrite),
    has nothing to resume, or is not a directory. Nothing in it was changed."""


class RunLockedError(RunDirectoryError):
    """Another process is running in this output directory (its pid is in the message)."""


class ConfigMismatchError(RunDirectoryError):
    """``--resume`` with settings that differ from the run's ``config.json``; ``differences`` lists them
    as ``(name, stored, given)``. Nothing in the directory was changed."""

    def __init__(self, message: str, differences: list[tuple[str, object, object]]):
        super().__init__(message)
        self.differences = differences


class ParameterDriftError(RuntimeError):
    """Tangent-parallel training: the ranks' parameters are no longer identical (dualgrad.parallel)."""

    raised_on_every_rank = True          # every rank compares the same gathered hashes


class MissingExtraError(ImportError):
    """What was asked needs an optional extra that is not installed; the message names ``pip install ...``."""


class TangentDtypeError(TypeError, ValueError):
    """A tangent block's dtype differs from its primal's (dualgrad never casts a tangent silently)."""


class TagOrderError(ValueError):
    """A nested Dual whose inner value belongs to an inner derivative (tags must grow inwards)."""


class EscapedPerturbationError(ValueError):
    """A Dual of a finished ``jvp``/``jacfwd`` call reached a later computation (e.g. kept in a closure)."""


class ArgumentTypeError(InvalidArgumentError, TypeError):
    """An argument of a public function has the wrong type (also a TypeError, as Python's own checks raise)."""
