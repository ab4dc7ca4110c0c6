from payoutkit_demo.cli import main

main()
