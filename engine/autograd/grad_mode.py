"""Grad modes: `no_grad`, `enable_grad`, `set_grad_enabled`, `inference_mode`, anomaly mode.

The mode is per thread (a training worker thread has its own), as in PyTorch. Each
manager works as a `with` block and as a function decorator.
"""
import functools
import inspect
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "is_inference_mode_enabled"]


class _State(threading.local):
    enabled = True
    inference = False
    anomaly = False
    anomaly_check_nan = True


state = _State()


def is_grad_enabled():
    """True when operations record a graph for autograd in this thread."""
    return state.enabled


def is_inference_mode_enabled():
    return state.inference


class _DecoratorContext:
    """Base: `with Mode():` or `@Mode()` (also bare `@no_grad` style via __call__ on a function)."""

    def __call__(self, fn):
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen_wrapper(*args, **kwargs):
                gen = fn(*args, **kwargs)
                with self.clone():
                    resp = gen.send(None)
                while True:
                    try:
                        with self.clone():
                            req = yield resp
                        with self.clone():
                            resp = gen.send(req)
                    except StopIteration as e:
                        return e.value
            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)
        return wrapper

    def clone(self):
        return self.__class__()


class no_grad(_DecoratorContext):
    """Context manager / decorator: operations inside record no graph."""

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        if orig_func is not None and callable(orig_func):  # used as bare @no_grad
            return self(orig_func)
        return self

    def __init__(self, orig_func=None):
        self.prev = False

    def __enter__(self):
        self.prev = state.enabled
        state.enabled = False

    def __exit__(self, *exc):
        state.enabled = self.prev


class enable_grad(_DecoratorContext):
    """Context manager / decorator: turn recording back on inside a no_grad region."""

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        if orig_func is not None and callable(orig_func):
            return self(orig_func)
        return self

    def __init__(self, orig_func=None):
        self.prev = True

    def __enter__(self):
        self.prev = state.enabled
        state.enabled = True

    def __exit__(self, *exc):
        state.enabled = self.prev


class set_grad_enabled(_DecoratorContext):
    """`set_grad_enabled(mode)`: sets the mode at once; as a `with` block, restores it on exit."""

    def __init__(self, mode):
        self.prev = state.enabled
        self.mode = bool(mode)
        state.enabled = self.mode

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        state.enabled = self.prev

    def clone(self):
        return self.__class__(self.mode)

    def __call__(self, fn):
        state.enabled = self.prev
        return super().__call__(fn)


class inference_mode(_DecoratorContext):
    """Like no_grad (the engine has no separate inference tensors); `inference_mode(False)` is a no-op."""

    def __new__(cls, mode=True):
        self = super().__new__(cls)
        if callable(mode) and not isinstance(mode, bool):
            self.__init__(True)
            return self(mode)
        return self

    def __init__(self, mode=True):
        self.mode = bool(mode) if isinstance(mode, bool) else True
        self.prev = None

    def __enter__(self):
        self.prev = (state.enabled, state.inference)
        if self.mode:
            state.enabled = False
            state.inference = True

    def __exit__(self, *exc):
        state.enabled, state.inference = self.prev

    def clone(self):
        return self.__class__(self.mode)
