{
  "targets": [
    {
      "target_name": "sluice_native",
      "sources": ["native/addon.cc", "native/mapped_file.cc", "native/crc32c.cc", "native/batch_scan.cc", "native/lz4_block.cc", "native/record_walk.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O3", "-Wall", "-Wextra", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti"]
    }
  ]
}
