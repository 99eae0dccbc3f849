"""Modal dialogs: each a typed `ModalScreen` that returns with `dismiss(value)`."""
