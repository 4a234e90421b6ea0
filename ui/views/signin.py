"""The sign-in page (its form is the one every page shows a visitor who has not signed in)."""

from ui import signin

signin.show()
