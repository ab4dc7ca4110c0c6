from payoutkit.cli import main

main()
