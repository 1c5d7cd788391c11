"""`torch.utils.data.dataloader`'s names for `engine.utils.data`'s loader."""
from engine.utils.data import DataLoader, WorkerInfo, default_collate, get_worker_info

__all__ = ["DataLoader", "WorkerInfo", "default_collate", "get_worker_info"]
