import pytest
import torch

from retinavlm.model.tokenizer import train_tokenizer


@pytest.fixture(scope="session")
def tokenizer():
    return train_tokenizer()


@pytest.fixture(autouse=True)
def _one_thread_per_worker():
    torch.set_num_threads(1)  # `make test` runs two pytest workers on the two CI cores
