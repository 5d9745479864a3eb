from mnist_tui.cli import main

raise SystemExit(main())
