/** USB vendor (and product) IDs of boards and bridges people plug in to run models. */
export interface KnownBoard {
  vendorId: string;
  /** Omitted when every product of the vendor is meant. */
  productId?: string;
  name: string;
}

export const knownBoards: KnownBoard[] = [
  { vendorId: '2341', name: 'Arduino' },
  { vendorId: '2a03', name: 'Arduino (arduino.org)' },
  { vendorId: '2341', productId: '005e', name: 'Arduino Nano 33 BLE' },
  { vendorId: '2341', productId: '025f', name: 'Arduino Nicla Vision' },
  { vendorId: '2341', productId: '035b', name: 'Arduino Portenta H7' },
  { vendorId: '2e8a', name: 'Raspberry Pi Pico' },
  { vendorId: '2e8a', productId: '000c', name: 'Raspberry Pi Debug Probe' },
  { vendorId: '0483', productId: '374b', name: 'ST-LINK/V2-1 (STM32 Nucleo/Discovery)' },
  { vendorId: '0483', productId: '374e', name: 'STLINK-V3 (STM32 Nucleo/Discovery)' },
  { vendorId: '0483', productId: '3752', name: 'ST-LINK/V2-1 (STM32 Nucleo/Discovery)' },
  { vendorId: '0483', productId: '3754', name: 'STLINK-V3 (STM32 Nucleo/Discovery)' },
  { vendorId: '0483', productId: '5740', name: 'STM32 USB CDC' },
  { vendorId: '303a', name: 'Espressif ESP32 (native USB)' },
  { vendorId: '10c4', productId: 'ea60', name: 'CP210x USB-UART bridge (ESP32 DevKit and others)' },
  { vendorId: '1a86', productId: '7523', name: 'CH340 USB-UART bridge' },
  { vendorId: '1a86', productId: '55d4', name: 'CH9102 USB-UART bridge' },
  { vendorId: '0403', productId: '6001', name: 'FTDI FT232 USB-UART bridge' },
  { vendorId: '0403', productId: '6010', name: 'FTDI FT2232 (dual UART / JTAG)' },
  { vendorId: '1915', name: 'Nordic Semiconductor nRF' },
  { vendorId: '1366', name: 'SEGGER J-Link (nRF DK and others)' },
  { vendorId: '0d28', productId: '0204', name: 'Arm DAPLink / mbed' },
  { vendorId: '239a', name: 'Adafruit' },
  { vendorId: '2886', name: 'Seeed Studio' },
  { vendorId: '1fc9', name: 'NXP' },
];

/** The most specific match: a product entry wins over a vendor-wide one. */
export function recogniseBoard(vendorId?: string, productId?: string): string | undefined {
  if (!vendorId) return undefined;
  const vid = vendorId.toLowerCase().padStart(4, '0');
  const pid = productId?.toLowerCase().padStart(4, '0');
  return (
    knownBoards.find((b) => b.vendorId === vid && b.productId !== undefined && b.productId === pid)?.name ??
    knownBoards.find((b) => b.vendorId === vid && b.productId === undefined)?.name
  );
}

/**
 * What a model must fit in on a board: RAM for the arena and the interpreter, flash for the
 * model and the firmware. Sizes are the MCU's on-chip memory from its datasheet (RAM the
 * linker can place data in, flash the application can use).
 */
export interface BoardProfile {
  /** What `--board` takes. */
  id: string;
  name: string;
  mcu: string;
  core: 'cortex-m0+' | 'cortex-m4f' | 'cortex-m7' | 'xtensa-lx6' | 'host';
  ramBytes: number;
  flashBytes: number;
  /** Custom profiles come from the settings file. */
  source: 'built-in' | 'settings';
}

const KB = 1024;

export const boardProfiles: BoardProfile[] = [
  { id: 'nucleo-f446re', name: 'ST Nucleo-F446RE', mcu: 'STM32F446RE', core: 'cortex-m4f', ramBytes: 128 * KB, flashBytes: 512 * KB, source: 'built-in' },
  { id: 'nucleo-f411re', name: 'ST Nucleo-F411RE', mcu: 'STM32F411RE', core: 'cortex-m4f', ramBytes: 128 * KB, flashBytes: 512 * KB, source: 'built-in' },
  { id: 'nucleo-l476rg', name: 'ST Nucleo-L476RG', mcu: 'STM32L476RG', core: 'cortex-m4f', ramBytes: 128 * KB, flashBytes: 1024 * KB, source: 'built-in' },
  { id: 'nano33ble', name: 'Arduino Nano 33 BLE', mcu: 'nRF52840', core: 'cortex-m4f', ramBytes: 256 * KB, flashBytes: 1024 * KB, source: 'built-in' },
  { id: 'nicla-vision', name: 'Arduino Nicla Vision', mcu: 'STM32H747', core: 'cortex-m7', ramBytes: 1024 * KB, flashBytes: 2048 * KB, source: 'built-in' },
  { id: 'portenta-h7', name: 'Arduino Portenta H7', mcu: 'STM32H747', core: 'cortex-m7', ramBytes: 1024 * KB, flashBytes: 2048 * KB, source: 'built-in' },
  { id: 'pico', name: 'Raspberry Pi Pico', mcu: 'RP2040', core: 'cortex-m0+', ramBytes: 264 * KB, flashBytes: 2048 * KB, source: 'built-in' },
  { id: 'esp32-devkitc', name: 'Espressif ESP32-DevKitC', mcu: 'ESP32', core: 'xtensa-lx6', ramBytes: 520 * KB, flashBytes: 4096 * KB, source: 'built-in' },
  // The two boards the tests run: QEMU's mps2-an386 (its linker script) and the virtual board's defaults.
  { id: 'mps2-an386', name: 'Arm MPS2 AN386 (QEMU)', mcu: 'Cortex-M4 FPGA image', core: 'cortex-m4f', ramBytes: 4096 * KB, flashBytes: 4096 * KB, source: 'built-in' },
  { id: 'virtual', name: 'Quantbench virtual board', mcu: 'host process', core: 'host', ramBytes: 8192 * KB, flashBytes: 4096 * KB, source: 'built-in' },
];
