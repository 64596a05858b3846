#pragma once

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

// Runs the built quantlens-cli with shell-quoted arguments and captures its exit code, stdout and
// stderr, for tests of exit codes and messages.
struct CliResult {
    int exitCode = -1;
    std::string out;
    std::string err;
};

inline std::string shellQuote(const std::string& arg)
{
    std::string quoted = "'";
    for (char c : arg) {
        if (c == '\'')
            quoted += "'\\''";
        else
            quoted += c;
    }
    return quoted + "'";
}

inline CliResult runCli(const std::vector<std::string>& args)
{
    const auto errPath
        = std::filesystem::temp_directory_path() / ("quantlens-cli-test-" + std::to_string(::getpid()) + ".err");
    std::string command = shellQuote(QUANTLENS_CLI_PATH);
    for (const auto& a : args)
        command += " " + shellQuote(a);
    command += " 2>" + shellQuote(errPath.string());
    CliResult result;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe)
        return result;
    std::array<char, 4096> buffer {};
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
        result.out.append(buffer.data(), n);
    const int status = ::pclose(pipe);
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ifstream errFile(errPath);
    std::stringstream ss;
    ss << errFile.rdbuf();
    result.err = ss.str();
    std::filesystem::remove(errPath);
    return result;
}

inline CliResult runCli(std::initializer_list<std::string> args)
{
    return runCli(std::vector<std::string>(args));
}
