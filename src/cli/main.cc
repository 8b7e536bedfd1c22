// Entry point of the hvmm command; the subcommands live beside it in src/cli/.
int main() { return 0; }
