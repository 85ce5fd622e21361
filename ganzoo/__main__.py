from ganzoo.cli import main

main()
