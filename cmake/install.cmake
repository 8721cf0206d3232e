# cmake/install.cmake - what `cmake --install` puts where, and the Debian package CPack builds
# from it (`cpack -G DEB` in the build directory). Included from CMakeLists.txt.
#
#   bin/   xfsfuse (mount.fuse3 finds it in PATH), xfsfuse-ctl, xfsfuse-churn, xfsfuse-dirstress
#   sbin/  xfsfuse-fsck, mount.xfsfuse (mount(8)'s helper for type xfsfuse)
#   share/man/man1, man8   the man pages (man/), gzipped
#   share/xfsfuse/images   images/make-image, which xfsfuse-churn runs to build its images
#   share/doc/xfsfuse      README.md, docs/
include(GNUInstallDirs)

install(TARGETS xfsfuse xfsfuse-ctl xfsfuse-churn xfsfuse-dirstress RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS xfsfuse-fsck RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(PROGRAMS fs/fuse/mount.xfsfuse DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(PROGRAMS images/make-image images/kernel_image_helper.py DESTINATION ${CMAKE_INSTALL_DATADIR}/xfsfuse/images)
install(FILES images/lib.sh images/README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/xfsfuse/images)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

# Man pages: @VERSION@ filled in, then gzip -n (no timestamp: reproducible), as Debian ships them.
set(man_gz "")
foreach(page xfsfuse.8 xfsfuse-fsck.8 xfsfuse-ctl.8 xfsfuse-churn.1 xfsfuse-dirstress.1)
  set(VERSION ${PROJECT_VERSION})
  configure_file(man/${page} ${CMAKE_BINARY_DIR}/man/${page} @ONLY)
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/man/${page}.gz
    COMMAND gzip -n -9 -c ${CMAKE_BINARY_DIR}/man/${page} > ${CMAKE_BINARY_DIR}/man/${page}.gz
    DEPENDS ${CMAKE_BINARY_DIR}/man/${page})
  string(REGEX MATCH "[0-9]$" section ${page})
  install(FILES ${CMAKE_BINARY_DIR}/man/${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  list(APPEND man_gz ${CMAKE_BINARY_DIR}/man/${page}.gz)
endforeach()
add_custom_target(man_pages ALL DEPENDS ${man_gz})

# The Debian package. Shared-library dependencies come from dpkg-shlibdeps (dpkg-dev); fuse3
# brings mount.fuse3 and fusermount3; xfsprogs' mkfs.xfs and xfs_db serve make-image and
# xfsfuse-churn.
set(CPACK_PACKAGE_NAME xfsfuse)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "xfsfuse developers <xfsfuse@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "userspace XFS v5 driver (FUSE3) with its own buffer cache and vmap layer")
set(CPACK_PACKAGE_DESCRIPTION "xfsfuse mounts XFS v5 filesystem images through FUSE without the kernel's XFS driver, reads and writes them, and checks them (xfsfuse-fsck).")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_LICENSE GPL-2.0-only)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "fuse3")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "xfsprogs")
include(CPack)
