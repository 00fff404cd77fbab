import sys

from nnstructure.cli import main

sys.exit(main())
