"""``python -m ddbbench.stub``: see ddbbench.stub.command."""

import sys

from ddbbench.stub.command import main

sys.exit(main())
