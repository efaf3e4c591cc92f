# Install rules of libbnmlp (included by the top CMakeLists.txt when BNMLP_INSTALL is on):
#   <libdir>/libbnmlp.a, <includedir>/bnmlp.h,
#   <libdir>/cmake/bnmlp/{bnmlpConfig,bnmlpConfigVersion,bnmlpTargets*}.cmake (target bnmlp::bnmlp),
#   with MPI also <libdir>/libbnmlp_mpi.a, <includedir>/bnmlp_mpi.h and
#   <libdir>/cmake/bnmlp/bnmlpMpiTargets*.cmake (bnmlp::mpi, the package's optional component mpi),
#   <libdir>/pkgconfig/bnmlp.pc.
# Both the CMake package and bnmlp.pc are relocatable: `cmake --install build --prefix DIR` works
# whatever CMAKE_INSTALL_PREFIX was at configure time.
include(CMakePackageConfigHelpers)

set(BNMLP_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/bnmlp)
set(BNMLP_PKGCONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(TARGETS bnmlp EXPORT bnmlpTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/bnmlp.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT bnmlpTargets NAMESPACE bnmlp:: DESTINATION ${BNMLP_CMAKE_DIR})
# The MPI transport, when built: bnmlp::mpi, in an export set of its own (bnmlpMpiTargets.cmake)
# that the package loads, after finding MPI, only for a consumer that asks for the component mpi.
# The core package never needs MPI.
set(BNMLP_PACKAGE_MPI FALSE)
if(TARGET bnmlp_mpi)
  set(BNMLP_PACKAGE_MPI TRUE)
  install(TARGETS bnmlp_mpi EXPORT bnmlpMpiTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(FILES ${PROJECT_SOURCE_DIR}/include/bnmlp_mpi.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT bnmlpMpiTargets NAMESPACE bnmlp:: DESTINATION ${BNMLP_CMAKE_DIR})
endif()

# Whether the library links Threads::Threads is read at generate time, so that a
# target_link_libraries(bnmlp PUBLIC Threads::Threads) anywhere in the project is seen: then the
# package finds Threads before its targets, and bnmlp.pc adds -pthread.
set(BNMLP_USES_THREADS "$<IN_LIST:Threads::Threads,$<TARGET_PROPERTY:bnmlp,LINK_LIBRARIES>>")

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/bnmlpConfig.cmake.in
  ${PROJECT_BINARY_DIR}/bnmlpConfig.cmake.genex
  INSTALL_DESTINATION ${BNMLP_CMAKE_DIR})
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/bnmlpConfig.cmake
  INPUT ${PROJECT_BINARY_DIR}/bnmlpConfig.cmake.genex)
# 0.x: minor versions may break the API, so a request for 0.1 accepts 0.1.* only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/bnmlpConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/bnmlpConfig.cmake ${PROJECT_BINARY_DIR}/bnmlpConfigVersion.cmake
  DESTINATION ${BNMLP_CMAKE_DIR})

# bnmlp.pc: prefix is computed from the .pc file's own place (${pcfiledir}), so it is right after
# `cmake --install --prefix`; an absolute CMAKE_INSTALL_LIBDIR or INCLUDEDIR is used as given.
set(BNMLP_PC_PREFIX "\${pcfiledir}")
if(NOT IS_ABSOLUTE "${BNMLP_PKGCONFIG_DIR}")
  string(REPLACE "/" ";" _bnmlp_pc_parts "${BNMLP_PKGCONFIG_DIR}")
  foreach(_part IN LISTS _bnmlp_pc_parts)
    if(NOT _part STREQUAL "" AND NOT _part STREQUAL ".")
      string(APPEND BNMLP_PC_PREFIX "/..")
    endif()
  endforeach()
else()
  set(BNMLP_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(BNMLP_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(BNMLP_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(BNMLP_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(BNMLP_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
set(BNMLP_PC_LIBM "")
if(BNMLP_HAVE_LIBM)
  set(BNMLP_PC_LIBM " -lm")
endif()
set(BNMLP_PC_THREADS "$<${BNMLP_USES_THREADS}: -pthread>")
configure_file(${PROJECT_SOURCE_DIR}/cmake/bnmlp.pc.in ${PROJECT_BINARY_DIR}/bnmlp.pc.genex @ONLY)
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/bnmlp.pc INPUT ${PROJECT_BINARY_DIR}/bnmlp.pc.genex)
install(FILES ${PROJECT_BINARY_DIR}/bnmlp.pc DESTINATION ${BNMLP_PKGCONFIG_DIR})
