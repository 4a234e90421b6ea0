from yunque.cli import main

main()
