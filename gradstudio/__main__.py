"""`python -m gradstudio` is the same entry point as the `gradstudio` command."""
import sys

from gradstudio.cli import main

sys.exit(main())
