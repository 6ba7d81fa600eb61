/** HDF5 superblock signature (https://docs.hdfgroup.org/hdf5/develop/_f_m_t3.html). */
export const HDF5_SIGNATURE = Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Local file header of a zip archive, which a .keras file is. */
export const ZIP_SIGNATURE = Uint8Array.from([0x50, 0x4b, 0x03, 0x04]);
