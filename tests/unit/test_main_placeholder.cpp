// Keeps every test executable non-empty while its folder is being filled; gtest_main provides
// main().
