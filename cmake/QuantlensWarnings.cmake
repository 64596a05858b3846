# Warnings as errors on our own targets only; third-party headers come in as SYSTEM includes.
# GCC 12 at -O3 reports -Wrestrict inside libstdc++'s own std::string code (GCC bug 105651, fixed
# in GCC 13); that one check is kept as a warning there so a release build is not stopped by it.
function(quantlens_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Werror>
    $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-error=restrict>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra,-Werror --Werror all-warnings>)
endfunction()
