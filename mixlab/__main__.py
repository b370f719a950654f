from mixlab.cli import main

raise SystemExit(main())
