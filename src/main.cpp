#include "warden/cli/cli.h"

int main(int argc, char** argv) { return warden::cli::main(argc, argv); }
