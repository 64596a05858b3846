#include "run_cli.h"

#include "core/util/version.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using ::testing::HasSubstr;

TEST(Cli, VersionPrintsTheProjectVersionAndExitsZero)
{
    const CliResult r = runCli({"--version"});
    EXPECT_EQ(r.exitCode, 0);
    EXPECT_THAT(r.out, HasSubstr(quantlens::kVersion));
}

TEST(Cli, HelpListsSubcommandsAndExitsZero)
{
    const CliResult r = runCli({"--help"});
    EXPECT_EQ(r.exitCode, 0);
    EXPECT_THAT(r.out, HasSubstr("devices"));
}

TEST(Cli, UnknownOptionIsAUsageErrorWithExitCodeTwo)
{
    const CliResult r = runCli({"--no-such-option"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("no-such-option"));
}

TEST(Cli, MissingSubcommandIsAUsageError)
{
    EXPECT_EQ(runCli({}).exitCode, 2);
}

TEST(Cli, DevicesNeverFailsWithoutAGpu)
{
    const CliResult r = runCli({"devices", "--json"});
    EXPECT_EQ(r.exitCode, 0);
    EXPECT_THAT(r.out, HasSubstr("\"available\""));
}
