"""The fault suite (`python bench/faults`): scenarios, harness, receiver and accounting."""
